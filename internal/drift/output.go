package drift

import (
	"fmt"
)

// print writes one line per app, and one per dangerous finding or check
// that could not run.
func (s *Stage) print(r *Report) {
	for _, a := range r.Apps {
		n := map[Status]int{}
		for _, c := range a.Checks {
			n[c.Status]++
		}
		fmt.Fprintf(s.Out, "%s (live %s, %s): %d passed, %d failed, %d errors, %d skipped\n",
			a.App, orNone(string(a.Live)), a.GitOpsPath, n[Pass], n[Fail], n[Errored], n[Skipped])
		for _, c := range a.Checks {
			switch c.Status {
			case Fail:
				for _, f := range c.Dangerous() {
					fmt.Fprintf(s.Out, "  ✗ %s: %s\n", c.Name, f.line())
				}
			case Errored:
				fmt.Fprintf(s.Out, "  ! %s: %s\n", c.Name, c.Error)
			}
		}
	}
	fmt.Fprintf(s.Out, "read in: cluster %dms, git %dms, argocd %dms (in parallel with git)\n", r.Timings.Cluster, r.Timings.Git, r.Timings.ArgoCD)
}
