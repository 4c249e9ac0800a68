// Package packaging checks what operators deploy rather than what the Go code
// does: the Helm chart in charts/credrotate (lint, render, the rendered
// objects decoded into Kubernetes' own API types and their safety settings
// asserted, the values schema), the GitHub Actions workflow in
// examples/github-actions (actionlint), and the GitOps repository, Argo CD
// and Flux examples in examples/ (kustomize build of every overlay, sealed
// secrets that decrypt after the overlay has rendered them).
//
// Everything runs in-process through the pinned Go libraries (helm v3,
// kustomize api, actionlint, sealed-secrets): no helm, kustomize or kubectl
// binary and no cluster is needed.
package packaging
