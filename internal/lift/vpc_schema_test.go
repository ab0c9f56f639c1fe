package lift_test

import (
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/schema"
)

// TestVpcOptionsAreChecked: lift's vpc accepts only type, provider and
// extensions; anything else is reported at its key.
func TestVpcOptionsAreChecked(t *testing.T) {
	doc := "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  net:\n    type: vpc\n    maxAzs: 3\n"
	root, ds := config.Parse("serverless.yml", []byte(doc), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	var found bool
	for _, d := range schema.Validate(root) {
		if d.Path == "constructs.net.maxAzs" && d.Pos.Line == 7 && d.Pos.Col == 5 {
			found = true
		}
	}
	if !found {
		t.Errorf("no diagnostic at constructs.net.maxAzs (7:5): %v", schema.Validate(root))
	}
	clean := "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  net: {type: vpc}\n"
	root, _ = config.Parse("serverless.yml", []byte(clean), diag.NewSources())
	for _, d := range schema.Validate(root) {
		if d.Path == "constructs.net" || len(d.Path) > len("constructs.net") && d.Path[:len("constructs.net")] == "constructs.net" {
			t.Errorf("valid vpc reported: %+v", d)
		}
	}
}
