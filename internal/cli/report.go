package cli

import (
	"fmt"
	"path/filepath"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/report"
	"gitlab.com/platform/bluegreen/internal/verify"
)

// writeReport writes the run's HTML report (verification.html, or
// monitor.html) into the out folder and records its path in v (when the
// run has a plan), for the Slack thread's link to the job's artifact. A
// run stopped before any check was judged has nothing to draw.
func writeReport(outDir string, rep *verify.Report, v *plan.Verification) error {
	if rep == nil || len(rep.Checks) == 0 {
		return nil
	}
	path := filepath.Join(outDir, report.FileName(rep.Stage))
	if err := report.Write(path, rep); err != nil {
		return outcome.Local(fmt.Errorf("write %s: %w", path, err))
	}
	if v != nil {
		v.Report = filepath.ToSlash(path)
	}
	return nil
}
