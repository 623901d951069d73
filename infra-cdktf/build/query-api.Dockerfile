# Query API image for Cloud Run: production dependencies only; tsx runs the TypeScript sources as
# they were tested. Build from the repository root:
#   docker build -f infra-cdktf/build/query-api.Dockerfile -t IMAGE .
FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080 TILLSTREAM_RUNTIME=gcp
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY pipeline ./pipeline
COPY adapters ./adapters
COPY runtime ./runtime
COPY services ./services
ARG API_ENTRY=services/query-api/server.ts
ENV API_ENTRY=${API_ENTRY}
USER node
EXPOSE 8080
CMD ["sh", "-c", "exec node --import tsx \"$API_ENTRY\""]
