package plan

// Stage names a stage in the ledger (Result.Stage) and in Slack's delivery
// log: the mode that wrote the entry.
type Stage string

// The stages, as the ledger names them.
const (
	Render   Stage = "render"
	Sync     Stage = "sync"
	Approve  Stage = "approve"
	Verify   Stage = "verify"
	Promote  Stage = "promote"
	Rollback Stage = "rollback"
	Drift    Stage = "drift"
)

// PipelineStages are the stages of a release, in pipeline order; a
// rollback follows only when it happens.
var PipelineStages = []Stage{Render, Sync, Approve, Verify, Promote}
