# The origin registry. TypeScript sources run as they are by Node 24's type stripping: no build step.
#   docker build -t edge-registry .
#   docker run -p 5000:5000 -v ./deploy/config.yaml:/etc/registry/config.yaml:ro \
#     -e REGISTRY_HTTP_ADDR=0.0.0.0:5000 edge-registry
# docker-compose.yml at the top level runs it with PostgreSQL, Redis and MinIO.
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

# Production dependencies only: the `node` devDependency (a second Node binary) and the test and
# lint tools stay out of the image.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin/ ./bin/
COPY shared/ ./shared/
COPY origin/ ./origin/

# The disk cache of hot blobs (storage.cache.disk_path) and the config's directory. A named volume
# mounted on /var/cache/registry starts with this ownership.
RUN mkdir -p /var/cache/registry /etc/registry \
  && chown node:node /var/cache/registry

# The official image's unprivileged user (uid 1000).
USER node

# The port of REGISTRY_HTTP_ADDR=0.0.0.0:5000 (docker-compose.yml sets it; the default address,
# 127.0.0.1:5000, would not be reachable from outside the container).
EXPOSE 5000

# Slim images have no curl: Node's fetch asks /healthz (the process is up).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:5000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# MALLOC_MMAP_THRESHOLD_ and --max-semi-space-size=4: see the README (Operations) for what they save.
ENV MALLOC_MMAP_THRESHOLD_=131072
CMD ["node", "--max-semi-space-size=4", "origin/cli.ts", "serve", "--config", "/etc/registry/config.yaml"]
