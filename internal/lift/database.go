package lift

import (
	"strconv"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// DatabaseType is lift's construct type for a single-table DynamoDB
// design.
const DatabaseType = "database/dynamodb-single-table"

// databaseIAMActions are what lift lets the service role do on the
// table and its indexes.
var databaseIAMActions = []string{
	"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
	"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
	"dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
}

// buildDatabase is lift's database/dynamodb-single-table construct: an
// on-demand table keyed by PK and SK with streams, point-in-time
// recovery and a TimeToLive attribute, optionally with the five local
// and up to twenty global secondary indexes single-table designs use.
func buildDatabase(id string, v *config.Node, ds *diag.Diagnostics) *construct {
	pos := v.Pos
	path := "constructs." + id
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}}
	gsiCount := 0
	if n := v.Get("gsiCount"); n != nil && n.Kind != config.Null {
		f, ok := number(v, "gsiCount")
		if !ok || f != float64(int(f)) || f < 1 || f > 20 {
			invalid(ds, n, path+".gsiCount", id, "'gsiCount' must be an integer between 1 and 20, '%s' given.", n.Scalar())
			return nil
		}
		gsiCount = int(f)
	}
	withLSI := isTrue(v.Get("localSecondaryIndexes"))

	attribute := func(name string) *config.Node {
		return obj(pos, "AttributeName", name, "AttributeType", "S")
	}
	keys := func(hash, rangeKey string) *config.Node {
		return config.NewSeq(pos,
			obj(pos, "AttributeName", hash, "KeyType", "HASH"),
			obj(pos, "AttributeName", rangeKey, "KeyType", "RANGE"))
	}
	index := func(name string, keySchema *config.Node) *config.Node {
		return obj(pos, "IndexName", name, "KeySchema", keySchema, "Projection", obj(pos, "ProjectionType", "ALL"))
	}
	// CDK defines each key attribute once, in the order indexes were
	// added: the table's keys, the local indexes, then the global ones.
	attributes := config.NewSeq(pos, attribute("PK"), attribute("SK"))
	locals, globals := config.NewSeq(pos), config.NewSeq(pos)
	if withLSI {
		for i := 1; i <= 5; i++ {
			n := "LSI-" + strconv.Itoa(i)
			attributes.Items = append(attributes.Items, attribute(n+"-SK"))
			locals.Items = append(locals.Items, index(n, keys("PK", n+"-SK")))
		}
	}
	for i := 1; i <= gsiCount; i++ {
		n := "GSI-" + strconv.Itoa(i)
		attributes.Items = append(attributes.Items, attribute(n+"-PK"), attribute(n+"-SK"))
		globals.Items = append(globals.Items, index(n, keys(n+"-PK", n+"-SK")))
	}
	props := obj(pos, "AttributeDefinitions", attributes, "BillingMode", "PAY_PER_REQUEST")
	if len(globals.Items) > 0 {
		props.Set("GlobalSecondaryIndexes", globals)
	}
	props.Set("KeySchema", keys("PK", "SK"))
	if len(locals.Items) > 0 {
		props.Set("LocalSecondaryIndexes", locals)
	}
	props.Set("PointInTimeRecoverySpecification", obj(pos, "PointInTimeRecoveryEnabled", true))
	props.Set("StreamSpecification", obj(pos, "StreamViewType", "NEW_AND_OLD_IMAGES"))
	props.Set("TimeToLiveSpecification", obj(pos, "AttributeName", "TimeToLive", "Enabled", true))

	tableID := LogicalID(id, "Table", "Resource")
	c.resources = []named{{tableID, obj(pos, "Type", "AWS::DynamoDB::Table", "Properties", props,
		"UpdateReplacePolicy", "Retain", "DeletionPolicy", "Retain")}}
	c.extensions = map[string]string{"table": tableID}
	c.outputs = []named{{LogicalID(id, "TableName"), obj(pos, "Value", ref(tableID, pos))}}
	c.variables["tableName"] = ref(tableID, pos)
	c.variables["tableArn"] = getAtt(tableID, "Arn", pos)
	c.variables["tableStreamArn"] = getAtt(tableID, "StreamArn", pos)
	c.statements = []statement{{
		actions: databaseIAMActions,
		resources: []resourceValue{
			{attribute: "tableArn"},
			// CDK folds the adjacent "index" and "*" of lift's join.
			{value: join("/", pos, getAtt(tableID, "Arn", pos), config.NewString("index/*", pos))},
		},
	}}
	return c
}
