// Package packaging builds the deployment artifacts of a service as
// serverless v3 does: one service zip, or one zip per function with
// package.individually, plus layer zips; prebuilt artifacts are used as they
// are. Zips are deterministic (sorted entries, fixed timestamps and modes)
// so unchanged code always gives the same SHA-256.
package packaging

// Result says which artifact each function and layer deploys. Paths are
// absolute; Names are the file names used in the deployment bucket.
type Result struct {
	// ServiceArtifact is the shared zip when functions are not packaged
	// individually ("" when every function has its own).
	ServiceArtifact string
	// Functions maps a function key to its artifact path.
	Functions map[string]string
	// Layers maps a layer key to its artifact path.
	Layers map[string]string
}
