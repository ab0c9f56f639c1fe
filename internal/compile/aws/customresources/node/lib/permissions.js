'use strict';

// Lambda permissions the handlers add for the service that invokes the
// function, and take away again on Delete.

const { RemovePermissionCommand } = require('@aws-sdk/client-lambda');

// removePermission deletes a statement a handler added; one already gone
// (removed by hand, or by an earlier failed Delete) is not an error.
async function removePermission(lambda, functionName, statementId) {
  await lambda
    .send(new RemovePermissionCommand({ FunctionName: functionName, StatementId: statementId }))
    .catch((error) => {
      if (error.name !== 'ResourceNotFoundException') throw error;
    });
}

module.exports = { removePermission };
