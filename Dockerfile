# vigil services image: one image, the command picks the service (vigil detect | revoke | alert | bank-api | simulate …).
# Node 24: a current LTS (Node 20 reached end of life on 2026-04-30), the Node vigil is built and tested on.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

# The analysts' notebooks (docker-compose's jupyter service): JupyterLab with the TypeScript kernel tslab, on the
# same built packages the services run.
FROM build AS jupyter
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/* \
  && python3 -m venv /opt/jupyter && /opt/jupyter/bin/pip install --no-cache-dir jupyterlab==4.6.6 \
  && npm install -g tslab@1.0.22 && tslab install --python /opt/jupyter/bin/python3 --prefix /opt/jupyter
WORKDIR /app/notebooks
EXPOSE 8888
ENTRYPOINT ["/opt/jupyter/bin/jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root"]

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "services/cli/dist/bin.js"]
CMD ["--help"]
