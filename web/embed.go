// Package web holds Roost's web client: its sources (web/src, built by
// web/build.mjs with esbuild) and the committed build (web/dist), which is
// embedded into the roost binary so that serving the client needs no npm.
// scripts/test.sh rebuilds web/dist and fails when the committed build
// differs from a fresh one or breaks the size budget (docs/web.md).
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built client: index.html and assets/ with
// content-hashed file names.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
