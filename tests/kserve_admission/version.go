package main

import "runtime/debug"

// kserveVersion is the github.com/kserve/kserve version this binary was built with.
func kserveVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/kserve/kserve" {
			return dep.Version
		}
	}
	return "unknown"
}
