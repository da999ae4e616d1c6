# The data plane image, made from the Debian package (scripts/package.sh). Build it where Docker
# can pull debian:12-slim (this machine has no base image):
#   scripts/package.sh                     # → dist/edgerouter-dataplane_<version>_<arch>.deb
#   docker build -f deploy/docker/dataplane.Dockerfile -t edgerouter-dataplane dist/
# Run (unprivileged: it listens on 8080/8443 inside; publish them as 80/443):
#   docker run -d -p 80:8080 -p 443:8443 -v edgerouter-dp:/var/lib/edgerouter-dataplane \
#     edgerouter-dataplane --controlplane=CONTROLPLANE:18000 --grpc_tls_ca=... (see docs/operations.md)
FROM debian:12-slim
COPY edgerouter-dataplane_*.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates /tmp/edgerouter-dataplane_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/*.deb \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/edgerouter-dataplane /var/cache/edgerouter-dataplane
USER 65532:65532
VOLUME /var/lib/edgerouter-dataplane
EXPOSE 8080 8443
# SIGTERM drains in-flight requests (--drain_timeout_ms); give `docker stop -t 15` or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/edgerouter-dataplane", "--state_dir=/var/lib/edgerouter-dataplane", \
            "--turbocharger_cache_dir=/var/cache/edgerouter-dataplane/turbocharger", \
            "--http_listen=:8080", "--https_listen=:8443", "--admin_listen=127.0.0.1:9901"]
CMD ["--controlplane=127.0.0.1:18000"]
