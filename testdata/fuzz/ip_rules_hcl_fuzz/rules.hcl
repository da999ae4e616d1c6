# edgerouter ip-rules.hcl
allow_all { prefix = "127.0.0.0/24" }
allow_all { prefix = "2001:db8::/32" }   // documentation range

allow_specified {
  prefix = "10.0.0.0/8"
  apps = ["intranet", "grafana"]
}
/* block comment */
