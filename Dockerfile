# One image for every connrca service: `docker run connrca service classifier`, `... migrate`.
# TypeScript runs directly through tsx (the workspace has no build step).
FROM node:20-bookworm-slim

ENV PNPM_HOME=/pnpm \
    CONNRCA_HEALTH_PORT=9464
WORKDIR /app
RUN corepack enable

# The workspace sources (no build step), then every package's dependencies.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/ packages/
COPY services/ services/
COPY infra/clickhouse/ infra/clickhouse/
COPY tsconfig.json ./
# Dev dependencies included: tsx (the TypeScript runner) is one.
RUN pnpm install --frozen-lockfile

ENV NODE_ENV=production

USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "--import", "tsx", "/app/services/cli/src/main.ts"]
CMD ["--help"]
