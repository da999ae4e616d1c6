# The control plane image, made from the Debian package (scripts/package.sh), so the image and a
# host install run the same files. This machine has no base image; build it where Docker can pull
# debian:12-slim (or has it loaded):
#   scripts/package.sh                     # → dist/edgerouter-controlplane_<version>_<arch>.deb
#   docker build -f deploy/docker/controlplane.Dockerfile -t edgerouter-controlplane dist/
# Run (gRPC and HTTP stay on loopback without TLS, hence the host network; see docs/operations.md):
#   docker run -d --network host -v edgerouter-cp:/var/lib/edgerouter-controlplane \
#     -v /etc/edgerouter:/etc/edgerouter:ro edgerouter-controlplane
FROM debian:12-slim
COPY edgerouter-controlplane_*.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/edgerouter-controlplane_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/*.deb \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/edgerouter-controlplane
USER 65532:65532
VOLUME /var/lib/edgerouter-controlplane
EXPOSE 18000 18001
ENTRYPOINT ["/usr/bin/edgerouter-controlplane", "--data_dir=/var/lib/edgerouter-controlplane/data"]
CMD ["--apps_file=/etc/edgerouter/applications.json", "--grpc_listen=127.0.0.1:18000", "--http_listen=127.0.0.1:18001"]
