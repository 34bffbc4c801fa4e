# gsyncd as a container: a sidecar that mirrors a shared volume to a slave host over SSH.
#
#   docker build -t gsyncd .
#   docker build -t gsyncd --build-arg BASE_IMAGE=registry.example.com/node:22-bookworm-slim .
#
# BASE_IMAGE must be Debian-based (the final stage installs its tools with apt-get) and ship
# node and npm on the PATH, as the official Node.js images do. Every stage uses the same base
# so that @parcel/watcher's prebuilt native module matches the libc it runs on.
ARG BASE_IMAGE=node:22-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# The lock file alone first: the dependency layer stays cached while only the code changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
COPY tsconfig.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
# `npm run build` is tsc, then esbuild's bundle of the CLI (no tests, no lint); with only
# src/ and the bundler copied in, tsc finds nothing of test/ or bench/ to compile.
RUN npm run build

# The production dependencies, installed from the lock file on their own: `npm prune` would
# leave the development packages' empty scope directories behind.
FROM ${BASE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --no-update-notifier --loglevel=error

FROM ${BASE_IMAGE}
# rsync and ssh do the moving; tini forwards SIGTERM to gsyncd (which then drains and exits
# 0) and reaps what would otherwise be left as zombies. setpriv, which gsyncd uses to make
# its rsync and ssh children die with it, comes with util-linux (essential on Debian).
# apt-get clean as well: a base without the docker-clean apt hook keeps the packages and
# apt's caches (about 100 MB) otherwise.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rsync openssh-client tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid (not the base image's `node`, uid 1000) that a pod's
# securityContext and a mounted Secret's ownership can name. ssh wants a passwd entry and
# a home for the user it runs as.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/gsyncd --shell /usr/sbin/nologin gsyncd \
 && install -d -o gsyncd -g gsyncd -m 0750 /var/lib/gsyncd

WORKDIR /opt/gsyncd
# Only what runs: the bundled code (not the tests), the shim, the config template, and the
# production dependencies (@parcel/watcher is loaded from them; the rest is in the bundle). package.json is read for the version.
COPY --from=build /src/package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/bundle ./dist/bundle
COPY bin ./bin
COPY conf ./conf
RUN ln -s /opt/gsyncd/bin/gsyncd /usr/local/bin/gsyncd

# Every tunable can come from a GSYNCD_* variable (GSYNCD_SSH_KEY and GSYNCD_SSH_KNOWN_HOSTS
# for mounted secrets, GSYNCD_EXCLUDE, ...). JSON lines on stdout suit a log collector; the state
# directory is the volume below, so that a new container resumes with a History Crawl
# instead of a Full Crawl.
ENV GSYNCD_LOG_FORMAT=json \
    GSYNCD_LOG_FILE=- \
    GSYNCD_STATE_DIR=/var/lib/gsyncd
VOLUME /var/lib/gsyncd

USER gsyncd

# Exits 0 when every session in the state directory runs and none is Faulty.
HEALTHCHECK CMD ["gsyncd", "health"]

# -s: tini registers as a child subreaper, so it still reaps when it is not PID 1 (a pod
# with shareProcessNamespace, where the pause process is PID 1).
# No CMD: the arguments are MASTER and SLAVE (or --session NAME, or monitor), or nothing at
# all when GSYNCD_MASTER and GSYNCD_SLAVE say them.
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "gsyncd"]
