// Package kubernetes ships the Kubernetes RBAC manifest that bluegreen's jobs
// need (rbac.yaml), embedded so that the tests run every stage with exactly
// these permissions.
package kubernetes

import _ "embed"

// RBAC is rbac.yaml: a ServiceAccount, the Role bluegreen needs, its
// RoleBinding, and the optional Role for `sync --dry-run`.
//
//go:embed rbac.yaml
var RBAC []byte
