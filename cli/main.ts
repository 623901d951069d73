// `tillstream` command-line entry: dispatches to one module per command.
const [command] = process.argv.slice(2);
process.stderr.write(`tillstream: command "${command ?? ''}" is not built yet\n`);
process.exitCode = 2;
