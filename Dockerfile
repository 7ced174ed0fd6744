# syntax=docker/dockerfile:1
# One image recipe for all five Traceo services:
#
#   docker build --build-arg SERVICE=audit-service -t traceo/audit-service:dev .
#
# SERVICE is one of auth-service | encryption-service | audit-service | risk-service | compliance-service.
# The build stage compiles with tools/build.mjs (swc), exactly as `npm run build` does; the runtime stage
# holds only production node_modules and dist/apps/$SERVICE and runs as an unprivileged user.
# Services that need PKCS#11 (SoftHSM2) will get it installed in the runtime stage in a later issue.

ARG NODE_IMAGE=node:24-bookworm-slim

# ------------------------------------------------------------------------------------------- build ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true

# Dependencies first, before SERVICE is declared, so all five service builds share this layer.
# package.json's `allowScripts` approves the install scripts of `node`, `@swc/core` and `nx` (npm 11);
# the `node@24.21.0` devDependency only matters for npm scripts, the build below uses the image's Node 24.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

ARG SERVICE
RUN case "$SERVICE" in \
      auth-service|encryption-service|audit-service|risk-service|compliance-service) ;; \
      *) echo "build with --build-arg SERVICE=<auth|encryption|audit|risk|compliance>-service (got '$SERVICE')" >&2; exit 1 ;; \
    esac

# Only what tools/build.mjs reads: its swc options, the libraries and the apps.
COPY tsconfig.base.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
RUN node tools/build.mjs "apps/$SERVICE"

# Drop devDependencies (swc, nx, jest, the `node` package, ...); the runtime image has its own Node 24.
RUN npm prune --omit=dev --no-audit --no-fund

# ----------------------------------------------------------------------------------------- runtime ---
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE

# A fixed, non-root uid/gid (10001) so orchestrators can enforce runAsNonRoot / runAsUser.
RUN groupadd --system --gid 10001 traceo \
 && useradd --system --uid 10001 --gid traceo --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin traceo

ENV NODE_ENV=production \
    TRACEO_SERVICE=${SERVICE} \
    TRACEO_HTTP_HOST=0.0.0.0 \
    TRACEO_HTTP_PORT=8080

# Layout: /app/node_modules (third-party, production only) and /app/dist/apps/$SERVICE (the app, with its
# @traceo/* libraries in its own node_modules). Node's resolution walks up from the dist dir to /app.
# Files stay owned by root: the service user can read but not modify its code.
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/apps/${SERVICE} ./dist/apps/${SERVICE}
# tools/kafka-topics.mjs reads ../libs/contracts/src/topics.json relative to itself and kafkajs from
# /app/node_modules; docker-compose.yml runs it as the one-shot topic creator.
COPY --from=build /app/tools/kafka-topics.mjs ./tools/kafka-topics.mjs
COPY --from=build /app/libs/contracts/src/topics.json ./libs/contracts/src/topics.json

WORKDIR /app/dist/apps/${SERVICE}
USER 10001:10001
EXPOSE 8080

# Liveness only (the process answers HTTP); readiness (/health/ready) is for orchestrators. No curl in
# the slim image, so Node 24's fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TRACEO_HTTP_PORT || 8080) + '/health/live', { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The services drain their outbox on SIGTERM (TRACEO_SHUTDOWN_TIMEOUT_MS, default 10 s): give them a
# longer stop timeout than Docker's default 10 s (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "main.js"]
