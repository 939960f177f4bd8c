//go:build tools

// The binary this module builds; the blank import keeps `go mod tidy` from dropping it.
package tools

import _ "github.com/kserve/kserve/cmd/manager"
