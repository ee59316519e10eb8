# connrca: one image for every command and service (`docker run connrca service classifier`,
# `... migrate`, `... analyze /logs/x.log`). Checked against the package by test/e2e/dockerfile.test.ts.
# Node 24 LTS is the recommended runtime (.nvmrc); connrca supports Node >= 20.
ARG NODE_VERSION=24

# Build: the workspace with its dev dependencies; `pnpm pack` runs the build (prepack) and gives
# the same tarball `npm install -g` installs for users. pnpm comes from npm, not corepack.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.9
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.json README.md ./
COPY packages/ packages/
COPY services/ services/
COPY scripts/ scripts/
COPY infra/clickhouse/ infra/clickhouse/
RUN pnpm install --frozen-lockfile
RUN pnpm pack --out /out/connrca.tgz

# Runtime: the tarball and its production dependencies (chDB, uPlot) only: no pnpm, tsx or sources.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="connrca" \
      org.opencontainers.image.description="Why can't my clients connect? Connection-failure analytics for PostgreSQL fleets." \
      org.opencontainers.image.documentation="README.md in the package: /usr/local/lib/node_modules/connrca/README.md" \
      org.opencontainers.image.base.name="node:${NODE_VERSION}-bookworm-slim"
COPY --from=build /out/connrca.tgz /tmp/connrca.tgz
RUN npm install -g --omit=dev --no-audit --no-fund /tmp/connrca.tgz \
 && rm /tmp/connrca.tgz && npm cache clean --force \
 && mkdir -p /var/lib/connrca && chown node:node /var/lib/connrca

ENV NODE_ENV=production \
    CONNRCA_HEALTH_PORT=9464 \
    CONNRCA_DATA_DIR=/var/lib/connrca/data
# The embedded store and the sample live in the data volume, writable by the non-root user.
WORKDIR /var/lib/connrca
VOLUME /var/lib/connrca
USER node
EXPOSE 8080 9464
# /healthz: `connrca service <name>` answers on CONNRCA_HEALTH_PORT, `connrca run` on its API port
# (CONNRCA_API_PORT, default 8080). Tried against both by test/e2e/dockerfile.test.ts.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const ok=(p)=>fetch('http://127.0.0.1:'+p+'/healthz').then((r)=>r.ok,()=>false);ok(process.env.CONNRCA_HEALTH_PORT||9464).then((a)=>a||ok(process.env.CONNRCA_API_PORT||8080)).then((a)=>process.exit(a?0:1))"]
ENTRYPOINT ["node", "/usr/local/lib/node_modules/connrca/dist/cli.js"]
CMD ["--help"]
