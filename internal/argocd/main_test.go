package argocd_test

import (
	"testing"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

// env starts the cluster and Argo CD once, for the tests that need them.
var env testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }
