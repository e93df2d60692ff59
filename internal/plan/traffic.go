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
	// Capacity is how the new live colour was sized before the switch; nil
	// when it was not matched.
	Capacity *Capacity `json:"capacity,omitempty"`
}

// Capacity records the capacity matching before a switch: the colour that
// took traffic was raised to the ready replicas the other one had.
type Capacity struct {
	Color     Color  `json:"color"`               // the colour raised
	Live      int32  `json:"live"`                // the live colour's ready replicas before the switch
	Before    int32  `json:"before"`              // Color's ready replicas before matching
	Want      int32  `json:"want"`                // the replicas asked for
	After     int32  `json:"after"`               // Color's pods Ready and in the Services' endpoints at the switch
	HPA       string `json:"hpa,omitempty"`       // Color's HorizontalPodAutoscaler, when it has one
	HPAMin    int32  `json:"hpaMin,omitempty"`    // its minReplicas before, to restore after the rollback window
	RaisedMin int32  `json:"raisedMin,omitempty"` // its minReplicas for the window
}
