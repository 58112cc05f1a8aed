# scimd in a container: a build stage with the Rust toolchain, and a small final image holding
# the release binary only, run as an unprivileged user. Build from the repository root:
#   docker build -t scimd .
# The build stage's cargo command is the release build `cargo xtask` makes of scimd; a test
# (xtask/src/deploy.rs) keeps the two the same.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --package scimd --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/scim --create-home scim
COPY --from=build /src/target/release/scimd /usr/local/bin/scimd
USER scim
WORKDIR /var/lib/scim
# Listen on every interface inside the container; data (for SQLite) under the user's home.
ENV SCIM_LISTEN=0.0.0.0:8080 \
    SCIM_DATA_DIR=/var/lib/scim \
    SCIM_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/scimd"]
CMD ["serve"]
