import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The names of the commands `client` sends from now on, in order (e.g. to count a vend's DynamoDB round trips). */
export function recordCommands(client: DynamoDBClient): string[] {
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return commands;
}
