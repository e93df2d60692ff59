// Command etcd is etcd 3.7.0's server, built from the module proxy for
// internal/testenv (Debian's etcd 3.4 breaks watch-list streams).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
