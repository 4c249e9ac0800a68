// Package e2e proves credrotate's rollout on a real control plane: etcd, a
// kube-apiserver, the sealed-secrets controller, and overlays built and
// server-side applied with Flux's own libraries, the way kustomize-controller
// applies them. The tests carry the build tag e2e; run them with run.sh,
// which installs what they need first (setup.sh).
package e2e
