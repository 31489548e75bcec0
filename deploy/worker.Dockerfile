# Container image of a Caption Studio fleet worker (`caption-studio worker`, docs/fleet.md).
# CPU by default; for NVIDIA GPUs build with the CUDA 12 provider of onnxruntime-node:
#   docker build -f deploy/worker.Dockerfile -t caption-studio-worker .                                   # CPU
#   docker build -f deploy/worker.Dockerfile --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 \
#                --build-arg RUNTIME_BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 -t caption-studio-worker:cuda .
# The worker reads its settings from the environment (STUDIO_REDIS, STUDIO_ROOTS, STUDIO_PACK,
# STUDIO_CONCURRENCY, STUDIO_THREADS, STUDIO_LOCK_MS, STUDIO_STALLED_MS); it never opens a library database.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_BASE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# skip: CPU only (onnxruntime-node's bundled binaries); cuda12: also fetch the CUDA execution provider
ARG ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm rebuild better-sqlite3 esbuild \
 && if [ "$ONNXRUNTIME_NODE_INSTALL" != "skip" ]; then (cd node_modules/onnxruntime-node && node script/install --onnxruntime-node-install=$ONNXRUNTIME_NODE_INSTALL); fi
COPY electron.vite.config.ts tsconfig.json tsconfig.web.json ./
COPY src ./src
COPY bin ./bin
RUN npx electron-vite build && npm prune --omit=dev --ignore-scripts

FROM ${RUNTIME_BASE}
# the CUDA base image has no Node: bring the one the build used
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/out/main ./out/main
COPY --from=build /app/bin ./bin
# the bundled demo pack; real packs are mounted at /packs and named by STUDIO_PACK=/packs/<id>
COPY models/shapes-demo ./models/shapes-demo
ENV NODE_ENV=production \
    STUDIO_PACK=shapes-demo \
    STUDIO_CONCURRENCY=1 \
    STUDIO_THREADS=1
USER 1000:1000
# SIGTERM lets the chunks in progress finish (25 s at most); a killed worker's chunks go to another worker
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/out/main/cli.js", "worker"]
