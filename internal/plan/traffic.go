package plan

import "time"

// Traffic records what promote or rollback did to live traffic.
type Traffic struct {
	Live       Color     `json:"live"`               // the colour the active Services select now
	Previous   Color     `json:"previous,omitempty"` // the colour they selected before
	Revision   string    `json:"revision,omitempty"` // the GitOps commit of the switch; empty for a direct one
	Mode       string    `json:"mode"`               // gitops, direct, rollout
	SwitchedAt time.Time `json:"switchedAt"`
	IdleUntil  time.Time `json:"idleUntil,omitempty"` // the end of the rollback window
	// PendingReconcile is set when a fast-path rollback switched the live
	// Service directly and git or Argo CD still says otherwise.
	PendingReconcile string `json:"pendingReconcile,omitempty"`
	Retired          Color  `json:"retired,omitempty"` // the colour scaled to zero
}
