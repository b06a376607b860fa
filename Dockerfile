# vigil services image: one image, the command picks the service (vigil detect | revoke | alert | run).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "services/cli/dist/bin.js"]
CMD ["--help"]
