package testenv_test

import (
	"testing"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

// env is shared by every test in the package: the cluster starts once, on
// the first test that asks for it.
var env testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }
