package aws

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/nimbusfw/nimbus/internal/cfn"
)

// v3's compileLayers: an AWS::Lambda::LayerVersion per layer, permissions
// for allowedAccounts, and the QualifiedArn/Hash/S3Key outputs.
func init() { registerCore(orderLayers, compileLayers) }

func compileLayers(c *Context) {
	for _, l := range c.Svc.Layers {
		raw := l.Raw
		artifact := c.LayerArtifact(l)
		content := map[string]any{"S3Bucket": c.DeploymentBucketRef()}
		props := map[string]any{"Content": content}
		// hashed is the resource as v3 JSON.stringifies it (insertion
		// order, S3Key omitted) for the layer hash.
		hashed := newOrdered().
			add("Type", "AWS::Lambda::LayerVersion")
		hprops := newOrdered().add("Content", newOrdered().add("S3Bucket", content["S3Bucket"]))
		name := any(l.Key)
		if n := raw.Get("name"); n.Truthy() {
			name = n.Interface()
		}
		props["LayerName"] = name
		hprops.add("LayerName", name)
		for _, kv := range [][2]string{
			{"description", "Description"}, {"licenseInfo", "LicenseInfo"},
			{"compatibleRuntimes", "CompatibleRuntimes"}, {"compatibleArchitectures", "CompatibleArchitectures"},
		} {
			if n := raw.Get(kv[0]); n.Truthy() {
				props[kv[1]] = n.Interface()
				hprops.add(kv[1], n)
			}
		}
		content["S3Key"] = c.ArtifactDirectoryName + "/" + filepath.Base(artifact)
		hashed.add("Properties", hprops)

		h := sha1.New()
		h.Write(hashed.json())
		if data, err := os.ReadFile(artifact); err == nil {
			h.Write(data)
		}
		sha := hex.EncodeToString(h.Sum(nil))

		logicalID := LayerLogicalID(l.Key)
		res := map[string]any{"Type": "AWS::Lambda::LayerVersion", "Properties": props}
		retain := raw.Get("retain").Truthy()
		if retain {
			logicalID += sha
			res["DeletionPolicy"] = "Retain"
		}
		c.Template.Resources[logicalID] = res
		c.layerKeys[logicalID] = l.Key
		for _, acct := range raw.Get("allowedAccounts").List() {
			account := acct.Scalar0()
			permID := LayerPermissionLogicalID(l.Key, account)
			perm := map[string]any{"Type": "AWS::Lambda::LayerVersionPermission", "Properties": map[string]any{
				"Action": "lambda:GetLayerVersion", "LayerVersionArn": cfn.Ref(logicalID), "Principal": acct.Interface(),
			}}
			if retain {
				permID += sha
				perm["DeletionPolicy"] = "Retain"
			}
			c.Template.Resources[permID] = perm
		}
		c.Template.AddOutput(LayerOutputLogicalID(l.Key), "Current Lambda layer version", cfn.Ref(logicalID))
		c.Template.AddOutput(LayerHashOutputLogicalID(l.Key), "Current Lambda layer hash", sha)
		c.Template.AddOutput(LayerS3KeyOutputLogicalID(l.Key), "Current Lambda layer S3Key", content["S3Key"])
	}
}

// ordered is a JSON object that keeps insertion order, for the hashes v3
// computes over JSON.stringify of objects built in a fixed order.
type ordered struct {
	keys []string
	vals []any
}

func newOrdered() *ordered { return &ordered{} }

func (o *ordered) add(k string, v any) *ordered {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
	return o
}

func (o *ordered) json() []byte {
	var b bytes.Buffer
	writeJSValue(&b, o, false)
	return b.Bytes()
}
