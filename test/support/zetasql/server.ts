// The ZetaSQL server for the SQL tests: started once per mocha run (lazily, on first use) and
// killed by a root-level `after` hook, so every spec file shares one process and one set of
// registered catalogs. Also holds the BigQuery language options and the analyzer options every
// request uses, and a typed promise wrapper over the gRPC service.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { ZetaSQLClient } from '@fivetrandevelopers/zetasql';
import type { ZetaSqlLocalServiceClient } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/ZetaSqlLocalService.js';
import type { AnalyzerOptionsProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/AnalyzerOptionsProto.js';
import type { LanguageOptionsProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/LanguageOptionsProto.js';
import type { LanguageFeature } from '@fivetrandevelopers/zetasql/lib/types/zetasql/LanguageFeature.js';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';

const require = createRequire(import.meta.url);

/**
 * What BigQuery accepts, as ZetaSQL language features. Chosen one by one rather than "maximum
 * features", so that a construct BigQuery rejects (GROUP BY an ARRAY, lambdas, `WITH(...)`
 * expressions, proto syntax, DML `RETURNING`) is rejected here too.
 */
export const BIGQUERY_FEATURES: readonly LanguageFeature[] = [
  // types
  'FEATURE_NUMERIC_TYPE',
  'FEATURE_BIGNUMERIC_TYPE',
  'FEATURE_JSON_TYPE',
  'FEATURE_INTERVAL_TYPE',
  'FEATURE_RANGE_TYPE',
  'FEATURE_GEOGRAPHY',
  'FEATURE_PARAMETERIZED_TYPES',
  'FEATURE_V_1_2_CIVIL_TIME',
  'FEATURE_V_1_3_DECIMAL_ALIAS',
  // query syntax
  'FEATURE_ANALYTIC_FUNCTIONS',
  'FEATURE_V_1_3_QUALIFY',
  'FEATURE_V_1_3_PIVOT',
  'FEATURE_V_1_3_UNPIVOT',
  'FEATURE_V_1_3_WITH_RECURSIVE',
  'FEATURE_V_1_1_WITH_ON_SUBQUERY',
  'FEATURE_V_1_1_SELECT_STAR_EXCEPT_REPLACE',
  'FEATURE_V_1_1_ORDER_BY_COLLATE',
  'FEATURE_V_1_1_ORDER_BY_IN_AGGREGATE',
  'FEATURE_V_1_1_LIMIT_IN_AGGREGATE',
  'FEATURE_V_1_1_HAVING_IN_AGGREGATE',
  'FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_AGGREGATE',
  'FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_ANALYTIC',
  'FEATURE_V_1_1_FOR_SYSTEM_TIME_AS_OF',
  'FEATURE_V_1_1_CAST_DIFFERENT_ARRAY_TYPES',
  'FEATURE_V_1_3_NULLS_FIRST_LAST_IN_ORDER_BY',
  'FEATURE_V_1_3_IS_DISTINCT',
  'FEATURE_V_1_3_LIKE_ANY_SOME_ALL',
  'FEATURE_V_1_3_ALLOW_DASHES_IN_TABLE_NAME',
  'FEATURE_V_1_4_CORRESPONDING',
  'FEATURE_GROUP_BY_ROLLUP',
  'FEATURE_V_1_4_GROUPING_SETS',
  'FEATURE_V_1_4_GROUPING_BUILTIN',
  'FEATURE_TABLESAMPLE',
  'FEATURE_TABLE_VALUED_FUNCTIONS',
  'FEATURE_NAMED_ARGUMENTS',
  'FEATURE_TEMPLATE_FUNCTIONS',
  // functions
  'FEATURE_V_1_2_SAFE_FUNCTION_CALL',
  'FEATURE_V_1_2_WEEK_WITH_WEEKDAY',
  'FEATURE_V_1_3_DATE_TIME_CONSTRUCTORS',
  'FEATURE_V_1_3_DATE_ARITHMETICS',
  'FEATURE_V_1_3_EXTENDED_DATE_TIME_SIGNATURES',
  'FEATURE_V_1_3_FORMAT_IN_CAST',
  'FEATURE_V_1_3_ADDITIONAL_STRING_FUNCTIONS',
  'FEATURE_V_1_3_CONCAT_MIXED_TYPES',
  'FEATURE_V_1_3_ALLOW_REGEXP_EXTRACT_OPTIONALS',
  'FEATURE_V_1_3_EXTENDED_GEOGRAPHY_PARSERS',
  'FEATURE_JSON_ARRAY_FUNCTIONS',
  'FEATURE_JSON_VALUE_EXTRACTION_FUNCTIONS',
  'FEATURE_JSON_LAX_VALUE_EXTRACTION_FUNCTIONS',
  'FEATURE_JSON_CONSTRUCTOR_FUNCTIONS',
  'FEATURE_JSON_MUTATOR_FUNCTIONS',
  'FEATURE_ROUND_WITH_ROUNDING_MODE',
  'FEATURE_CBRT_FUNCTIONS',
  'FEATURE_INVERSE_TRIG_FUNCTIONS',
  'FEATURE_V_1_3_ANNOTATION_FRAMEWORK',
  'FEATURE_V_1_3_COLLATION_SUPPORT',
  // DML and DDL
  'FEATURE_DML_UPDATE_WITH_JOIN',
  'FEATURE_V_1_2_CORRELATED_REFS_IN_NESTED_DML',
  'FEATURE_V_1_3_OMIT_INSERT_COLUMN_LIST',
  'FEATURE_V_1_3_COLUMN_DEFAULT_VALUE',
  'FEATURE_CREATE_TABLE_PARTITION_BY',
  'FEATURE_CREATE_TABLE_CLUSTER_BY',
  'FEATURE_CREATE_TABLE_NOT_NULL',
  'FEATURE_CREATE_TABLE_FIELD_ANNOTATIONS',
  'FEATURE_CREATE_TABLE_AS_SELECT_COLUMN_LIST',
  'FEATURE_CREATE_TABLE_LIKE',
  'FEATURE_CREATE_TABLE_COPY',
  'FEATURE_CREATE_SNAPSHOT_TABLE',
  'FEATURE_CREATE_VIEW_WITH_COLUMN_LIST',
  'FEATURE_CREATE_MATERIALIZED_VIEW_PARTITION_BY',
  'FEATURE_CREATE_MATERIALIZED_VIEW_CLUSTER_BY',
  'FEATURE_CREATE_EXTERNAL_TABLE_WITH_CONNECTION',
  'FEATURE_CREATE_EXTERNAL_TABLE_WITH_TABLE_ELEMENT_LIST',
  'FEATURE_CREATE_TABLE_FUNCTION',
  'FEATURE_CREATE_AGGREGATE_FUNCTION',
  'FEATURE_ALTER_TABLE_RENAME_COLUMN',
  'FEATURE_ALTER_COLUMN_SET_DATA_TYPE',
  'FEATURE_UNENFORCED_PRIMARY_KEYS',
  'FEATURE_FOREIGN_KEYS',
  'FEATURE_ENCRYPTION',
  'FEATURE_V_1_3_REMOTE_FUNCTION',
  'FEATURE_V_1_4_LOAD_DATA_PARTITIONS',
  'FEATURE_V_1_4_LOAD_DATA_TEMP_TABLE',
  // scripting constructs a single statement may still contain
  'FEATURE_V_1_3_CASE_STMT',
  'FEATURE_V_1_3_FOR_IN',
  'FEATURE_V_1_3_REPEAT',
  'FEATURE_V_1_3_SCRIPT_LABEL',
];

export const BIGQUERY_LANGUAGE: LanguageOptionsProto = {
  productMode: 'PRODUCT_EXTERNAL',
  nameResolutionMode: 'NAME_RESOLUTION_DEFAULT',
  enabledLanguageFeatures: [...BIGQUERY_FEATURES],
  // QUALIFY is reserved in BigQuery; in ZetaSQL it is not unless asked, and `select 1 qualify x`
  // would silently alias the column "qualify".
  reservedKeywords: ['QUALIFY'],
  // Left empty on purpose: an empty list means every statement kind (query, DDL, DML, ASSERT).
  supportedStatementKinds: [],
};

const timestamp: TypeProto = { typeKind: 'TYPE_TIMESTAMP' };

/**
 * Query parameters the SQL files may use. BigQuery would fail on an undeclared one at run time,
 * so an unknown `@name` fails analysis here.
 */
const strings: TypeProto = { typeKind: 'TYPE_ARRAY', arrayType: { elementType: { typeKind: 'TYPE_STRING' } } };

export const QUERY_PARAMETERS: Record<string, TypeProto> = {
  window_start: timestamp,
  window_end: timestamp,
  // the window's scope (pipeline/marts/windows.ts) and horizon (pipeline/marts/statements.ts)
  all_from: timestamp,
  carry_from: timestamp,
  horizon_start: timestamp,
  merchants: strings,
  cells: strings,
  merchant_from: { typeKind: 'TYPE_STRING' },
  merchant_to: { typeKind: 'TYPE_STRING' },
};

export function analyzerOptions(): AnalyzerOptionsProto {
  return {
    languageOptions: BIGQUERY_LANGUAGE,
    // Without this, line and column are lost on the way over gRPC.
    errorMessageMode: 'ERROR_MESSAGE_ONE_LINE',
    // BigQuery's default time zone: DATE(ts), TIMESTAMP_TRUNC(ts, DAY) without a zone are UTC days.
    defaultTimezone: 'UTC',
    parameterMode: 'PARAMETER_NAMED',
    queryParameters: Object.entries(QUERY_PARAMETERS).map(([name, type]) => ({ name, type })),
  };
}

type Api = ZetaSqlLocalServiceClient;
type Unary<K extends keyof Api> = Api[K] extends {
  (argument: infer Req, callback: (err: unknown, value?: infer Res) => void): unknown;
}
  ? (request: Req) => Promise<NonNullable<Res>>
  : never;

export interface ZetaSql {
  port: number;
  call<K extends RpcName>(rpc: K, request: Parameters<Unary<K>>[0]): ReturnType<Unary<K>>;
}

/** The unary RPCs the harness uses (camel-case method names of the generated client). */
export type RpcName =
  | 'analyze'
  | 'registerCatalog'
  | 'unregisterCatalog'
  | 'prepareQuery'
  | 'evaluateQuery'
  | 'unprepareQuery'
  | 'extractTableNamesFromStatement'
  | 'getLanguageOptions';

let started: Promise<ZetaSql> | undefined;
let child: ChildProcess | undefined;

function serverBinary(): string {
  const pkgDir = path.dirname(require.resolve('@fivetrandevelopers/zetasql/package.json'));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the ZetaSQL server binary used here is Linux x86-64; this is ${process.platform}/${process.arch}`);
  }
  return path.join(pkgDir, 'lib', 'zetasql', 'remote_server.so');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function start(): Promise<ZetaSql> {
  const port = await freePort();
  // The package's own runServer() never resolves and echoes into our stdout; spawn it ourselves
  // and wait for the line that says it listens.
  const proc = spawn(serverBinary(), ['localhost', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  process.once('exit', () => proc.kill('SIGKILL'));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ZetaSQL server did not listen within 30 s; output: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error('starting the ZetaSQL server failed', { cause: err }));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ZetaSQL server exited with ${code} before listening; output: ${output}`));
    });
  });
  ZetaSQLClient.init(port);
  const api = ZetaSQLClient.API;
  return {
    port,
    call(rpc, request) {
      return new Promise((resolve, reject) => {
        const method = api[rpc] as unknown as (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;
        method.call(api, request, (err, res) => (err ? reject(err) : resolve(res)));
      }) as never;
    },
  };
}

/** The shared server; started on first call. */
export function zetaSql(): Promise<ZetaSql> {
  started ??= start();
  return started;
}

export function stopZetaSql(): void {
  child?.kill('SIGKILL');
  child = undefined;
  started = undefined;
  ZetaSQLClient.API?.close();
}

// A root-level hook (this module is first evaluated while mocha loads a spec file), so the
// server lives for the whole run and stops once, after the last spec file.
if (typeof after === 'function') after(stopZetaSql);
