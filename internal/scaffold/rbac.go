package scaffold

import (
	"bytes"
	"fmt"
	"regexp"

	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// metadataName is the start of each object in the shipped rbac.yaml.
var metadataName = regexp.MustCompile(`(?m)^metadata:\n  name: [a-z0-9-]+\n`)

// namespacedRBAC is the shipped rbac.yaml (kubernetes.RBAC), comments and
// all, with every object in namespace ns: the Role is exactly the one the
// tests run the jobs with.
func namespacedRBAC(ns string) ([]byte, error) {
	n := 0
	out := metadataName.ReplaceAllFunc(kubernetes.RBAC, func(m []byte) []byte {
		n++
		return append(append([]byte{}, m...), []byte("  namespace: "+scalar(ns)+"\n")...)
	})
	if want := bytes.Count(kubernetes.RBAC, []byte("\nkind: ")); n != want {
		return nil, fmt.Errorf("rbac.yaml: %d objects, but %d of them start with metadata.name", want, n)
	}
	head := fmt.Sprintf("# Written by `bluegreen init` from bluegreen's templates/kubernetes/rbac.yaml, in namespace %s.\n", ns)
	return append([]byte(head), out...), nil
}
