package argocd

import (
	"fmt"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

// SyncState says whether the live state matches git.
type SyncState string

// Sync states, as Argo CD names them.
const (
	Synced      SyncState = "Synced"
	OutOfSync   SyncState = "OutOfSync"
	SyncUnknown SyncState = "Unknown"
)

// Health is an application's or a resource's health.
type Health string

// Health states, as Argo CD names them.
const (
	Healthy       Health = "Healthy"
	Progressing   Health = "Progressing"
	Degraded      Health = "Degraded"
	Suspended     Health = "Suspended"
	Missing       Health = "Missing"
	HealthUnknown Health = "Unknown"
)

// Phase is a sync operation's phase.
type Phase string

// Operation phases, as Argo CD names them.
const (
	PhaseRunning     Phase = "Running"
	PhaseTerminating Phase = "Terminating"
	PhaseFailed      Phase = "Failed"
	PhaseError       Phase = "Error"
	PhaseSucceeded   Phase = "Succeeded"
)

// Status is what bluegreen needs to know about an Application.
type Status struct {
	Sync          SyncState
	Revision      string // the revision the live state was compared with
	Health        Health
	HealthMessage string
	Operation     *Operation // the current or last sync; nil if there was none
	Resources     []Resource // the managed resources
	Conditions    []Condition
}

// Operation is a sync operation.
type Operation struct {
	Pending    bool // requested, not yet picked up by the controller
	Phase      Phase
	Message    string
	Revision   string // the revision being or last synced
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
}

// Resource is one managed resource.
type Resource struct {
	Group, Kind, Namespace, Name string
	Sync                         SyncState
	Health                       Health // "" for resources without health (ConfigMaps, ...)
	Message                      string // the health message, or the failed sync step's message
	RequiresPruning              bool   // tracked by the Application, but no longer in git
}

// Ref is the resource's identity.
func (r Resource) Ref() ResourceRef {
	return ResourceRef{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// Condition is an application condition, e.g. a ComparisonError.
type Condition struct {
	Type    string
	Message string
}

// Done reports whether the application is Synced at revision (any revision
// if ""), Healthy, and no sync is pending or running.
func (s Status) Done(revision string) bool {
	return s.Sync == Synced && (revision == "" || s.Revision == revision) && s.Health == Healthy && !s.operating()
}

func (s Status) operating() bool {
	return s.Operation != nil && (s.Operation.Pending || s.Operation.Phase == PhaseRunning || s.Operation.Phase == PhaseTerminating)
}

// String summarises the status in one line, e.g.
// "Synced at 1a2b3c4 Healthy, sync Succeeded".
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at %s %s", orUnknown(string(s.Sync)), short(s.Revision), orUnknown(string(s.Health)))
	if op := s.Operation; op != nil {
		switch {
		case op.Pending:
			fmt.Fprintf(&b, ", sync to %s pending", short(op.Revision))
		default:
			fmt.Fprintf(&b, ", sync to %s %s", short(op.Revision), op.Phase)
		}
	}
	return b.String()
}

// Problems lists what is wrong, one item per failing operation, unhealthy
// or out-of-sync resource or error condition, for error messages and job
// logs.
func (s Status) Problems() []string {
	var out []string
	if op := s.Operation; op != nil && (op.Phase == PhaseFailed || op.Phase == PhaseError) && op.Message != "" {
		out = append(out, "sync: "+op.Message)
	}
	for _, r := range s.Resources {
		if (r.Health != "" && r.Health != Healthy) || r.Sync == OutOfSync {
			item := fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
			if r.Health != "" || r.Sync != OutOfSync {
				item += " " + orUnknown(string(r.Health))
			}
			if r.Sync == OutOfSync {
				item += " OutOfSync"
			}
			if r.Message != "" {
				item += ": " + r.Message
			}
			out = append(out, item)
		}
	}
	for _, c := range s.Conditions {
		if strings.HasSuffix(c.Type, "Error") {
			out = append(out, c.Type+": "+c.Message)
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func short(rev string) string {
	switch {
	case rev == "":
		return "?"
	case len(rev) > 7:
		return rev[:7]
	}
	return rev
}

// statusOf maps an Application to a Status.
func statusOf(a *v1alpha1.Application) Status {
	st := Status{
		Sync:          SyncState(a.Status.Sync.Status),
		Revision:      a.Status.Sync.Revision,
		Health:        Health(a.Status.Health.Status),
		HealthMessage: a.Status.Health.Message,
	}
	// A requested operation stays in a.Operation while it runs; the
	// controller clears it when the operation completes.
	ops := a.Status.OperationState
	running := ops != nil && (ops.Phase == "Running" || ops.Phase == "Terminating")
	if a.Operation != nil && !running {
		st.Operation = &Operation{Pending: true}
		if a.Operation.Sync != nil {
			st.Operation.Revision = a.Operation.Sync.Revision
		}
	} else if ops != nil {
		st.Operation = &Operation{Phase: Phase(ops.Phase), Message: ops.Message, StartedAt: ops.StartedAt.Time}
		if ops.FinishedAt != nil {
			st.Operation.FinishedAt = ops.FinishedAt.Time
		}
		switch {
		case ops.SyncResult != nil:
			st.Operation.Revision = ops.SyncResult.Revision
		case ops.Operation.Sync != nil:
			st.Operation.Revision = ops.Operation.Sync.Revision
		}
	}
	failed := map[string]string{} // resource key -> message of its failed sync step
	if ops != nil && ops.SyncResult != nil {
		for _, r := range ops.SyncResult.Resources {
			if r.Status != "Synced" && r.Status != "Pruned" && r.Message != "" {
				failed[key(r.Group, r.Kind, r.Namespace, r.Name)] = r.Message
			}
		}
	}
	for _, r := range a.Status.Resources {
		res := Resource{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Sync: SyncState(r.Status), RequiresPruning: r.RequiresPruning}
		if r.Health != nil {
			res.Health, res.Message = Health(r.Health.Status), r.Health.Message
		}
		if m, ok := failed[key(r.Group, r.Kind, r.Namespace, r.Name)]; ok {
			res.Message = m
		}
		st.Resources = append(st.Resources, res)
	}
	for _, c := range a.Status.Conditions {
		st.Conditions = append(st.Conditions, Condition{Type: c.Type, Message: c.Message})
	}
	return st
}

// needsTree reports whether resource health lives in the resource tree
// rather than in the Application's status.
func needsTree(a *v1alpha1.Application) bool {
	return a.Status.ResourceHealthSource == v1alpha1.ResourceHealthLocationAppTree && len(a.Status.Resources) > 0
}

// addTreeHealth copies the health of managed resources from the tree.
func addTreeHealth(st *Status, tree *v1alpha1.ApplicationTree) {
	health := map[string]*v1alpha1.HealthStatus{}
	for _, n := range tree.Nodes {
		if n.Health != nil {
			health[key(n.Group, n.Kind, n.Namespace, n.Name)] = n.Health
		}
	}
	for i := range st.Resources {
		r := &st.Resources[i]
		if h, ok := health[key(r.Group, r.Kind, r.Namespace, r.Name)]; ok && r.Health == "" {
			r.Health = Health(h.Status)
			if r.Message == "" {
				r.Message = h.Message
			}
		}
	}
}

func key(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}
