# Query API image for Cloud Run: the service bundled by esbuild (scripts/build-query-api.mjs) into plain
# JavaScript, run by node alone — no node_modules, no TypeScript compiler at start. Build from the repository root:
#   docker build -f infra-cdktf/build/query-api.Dockerfile -t IMAGE .
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY pipeline ./pipeline
COPY adapters ./adapters
COPY runtime ./runtime
COPY services ./services
COPY scripts/bundle.mjs scripts/build-query-api.mjs ./scripts/
RUN node scripts/build-query-api.mjs --out /app

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080 TILLSTREAM_RUNTIME=gcp
WORKDIR /app
COPY --from=build /app ./
USER node
EXPOSE 8080
CMD ["node", "server.mjs"]
