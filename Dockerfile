FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY assets ./assets
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENV CASCADE_HOST=0.0.0.0 CASCADE_DATA=/data
VOLUME /data
# HTTP; RTMP ingest; SRT ingest (UDP, one port per channel)
EXPOSE 8080 1935 9000-9099/udp
ENTRYPOINT ["node", "bin/cascade.js"]
CMD ["serve"]
