// Package kubernetes ships the Kubernetes RBAC manifests that bluegreen's
// jobs need (rbac.yaml, and the optional rbac-cluster.yaml for drift),
// embedded so that the tests run every stage with exactly these
// permissions.
package kubernetes

import _ "embed"

// RBAC is rbac.yaml: a ServiceAccount, the Role bluegreen needs, its
// RoleBinding, and the optional Role for `sync --dry-run`.
//
//go:embed rbac.yaml
var RBAC []byte

// RBACCluster is rbac-cluster.yaml: the optional ClusterRole that lets
// drift read the cluster-scoped objects in git.
//
//go:embed rbac-cluster.yaml
var RBACCluster []byte
