# syntax=docker/dockerfile:1
# lookaside service image: build with tsc, run the compiled dist/ on a small Node 20 base as a
# non-root user (uid 1000, numeric so that Kubernetes' runAsNonRoot can check it).
#   docker build -t lookaside:0.1.0 .
ARG NODE_IMAGE=node:20-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
COPY client-sdk/package.json client-sdk/package.json
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY protos protos
COPY src src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/@lookaside

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LOOKASIDE_GRPC_ADDRESS=0.0.0.0:50051 \
    LOOKASIDE_HTTP_PORT=8080
WORKDIR /app
# Files stay owned by root and read-only for the service user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/protos ./protos
USER 1000:1000
# gRPC (reports, assignments) and admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 50051 8080
CMD ["node", "--enable-source-maps", "dist/main.js"]
