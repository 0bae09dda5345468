# Latchkey in a container: the self-contained release binary on a slim Debian, as a non-root
# user, its data (SQLite, generated keys) in the /data volume.
#   docker build -t latchkey .
#   docker run -p 127.0.0.1:3000:3000 -v latchkey-data:/data \
#     -e LATCHKEY_ENVIRONMENT=production -e LATCHKEY_PUBLIC_URL=https://auth.example.com \
#     -e LATCHKEY_MASTER_KEY_FILE=/run/secrets/master_key -e LATCHKEY_TRUSTED_PROXIES=172.17.0.1 latchkey
# Publish the port on loopback only, for the TLS proxy on the host: published on every interface,
# clients could reach Latchkey past the proxy, in plain http.
# The build stage runs the project's own production build (scripts/build-release.sh, what
# `make release` runs); the first build compiles cargo-leptos too (about 15 minutes on 2 cores).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./scripts/setup.sh && ./scripts/build-release.sh

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin latchkey \
 && mkdir /data && chown latchkey:latchkey /data
COPY --from=build /src/target/release/latchkey /usr/local/bin/latchkey
USER latchkey
WORKDIR /data
# Listens on every interface of the container; a development instance there starts only with
# LATCHKEY_ENVIRONMENT=development said explicitly.
ENV LEPTOS_SITE_ADDR=0.0.0.0:3000 LATCHKEY_DATA_DIR=/data
VOLUME /data
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/latchkey"]
CMD ["serve"]
