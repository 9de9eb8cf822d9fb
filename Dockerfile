# recipedb-ops: the bot, compiled, with the PostgreSQL client tools it runs (pg_dump, psql).
#
# Base, pinned by tag: Node 24 LTS (supported until April 2028) on Debian 12 "bookworm", whose
# postgresql-client-15 matches the Recipe Database's PostgreSQL 15. pg_dump must be at least the
# server's major version (the bot checks before every backup); for another server, change the 15s
# below to a major the base's Debian ships, or add the PGDG apt repository.
# The code also runs on Node 20, where the tests run.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
# tini as PID 1: node as PID 1 ignores every signal it has no listener for, so a SIGTERM arriving
# before the bot installed its handler (while it connects at start-up) would be lost and the pod
# would wait out its whole grace period. tini (without -g) passes SIGTERM to the bot alone, not to
# a running pg_dump, which the bot lets finish; and it reaps any orphaned process.
# pgbackrest (point-in-time recovery, deploy/database/) is pinned to the database image's version
# (deploy/database/Dockerfile): its TLS protocol wants the same one on both ends.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 pgbackrest=2.45-1 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
# The versioned tools, ahead of Debian's pg_wrapper scripts in /usr/bin.
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
WORKDIR /app
COPY package.json package-lock.json ./
# Charts need no system library or font: resvg's prebuilt binary for this platform is an optional
# dependency inside the npm package (so never --omit=optional), the fonts come from dejavu-fonts-ttf.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# BACKUP_DIR defaults to /backups/recipe-database: mount the backups volume at /backups.
RUN mkdir -p /backups && chown node:node /backups
ENV NODE_ENV=production PORT=3000
EXPOSE 3000
# The base image's unprivileged user (uid 1000). /app stays root's: the bot only reads it.
USER node
# The slim image has no curl: node asks /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
