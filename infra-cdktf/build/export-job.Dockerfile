# Export job image for Cloud Run jobs: the task bundled by esbuild (scripts/build-export-job.mjs) into plain
# JavaScript, run by node alone — no node_modules, no TypeScript compiler at start. Build from the repository root:
#   docker build -f infra-cdktf/build/export-job.Dockerfile -t IMAGE .
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY pipeline ./pipeline
COPY adapters ./adapters
COPY runtime ./runtime
COPY services ./services
COPY sql ./sql
COPY scripts/bundle.mjs scripts/build-export-job.mjs ./scripts/
RUN node scripts/build-export-job.mjs --out /app

FROM node:22-bookworm-slim
ENV NODE_ENV=production TILLSTREAM_RUNTIME=gcp
WORKDIR /app
COPY --from=build /app ./
USER node
CMD ["node", "main.mjs"]
