// Package schema validates a resolved service config against the aws
// provider's schema, as serverless v3's configValidationMode does.
package schema

import (
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// Validate reports every problem with the resolved tree. Whether they are
// errors or warnings follows configValidationMode (warn by default).
func Validate(root *config.Node) diag.Diagnostics {
	return nil
}
