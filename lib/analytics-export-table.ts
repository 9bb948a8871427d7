import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { jobPrefix, tableName, type ExportJob } from '../lambdas/core/export-windows';

// The Athena side of an export job: one Glue database per stack (shared by every job) and one table per job
// over the job's Hive-style partitions, with partition projection on `dt` so queries work right after the
// first run with no crawler and no `MSCK REPAIR TABLE`.

const DATABASE_ID = 'AnalyticsExportsDatabase';

/** The stack's Glue database of export tables: `<stack name>_exports`, lowercase with underscores. */
export function exportsDatabase(scope: Construct): glue.CfnDatabase {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(DATABASE_ID);
  if (existing) return existing as glue.CfnDatabase;
  const name = `${stack.stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_exports`;
  return new glue.CfnDatabase(stack, DATABASE_ID, {
    catalogId: stack.account,
    databaseInput: { name, description: 'token-vending-machine analytics exports (one table per export job)' },
  });
}

export interface AnalyticsExportTableProps {
  readonly job: ExportJob;
  readonly bucket: s3.IBucket;
  /** @default the stack's {@link exportsDatabase} */
  readonly database?: glue.CfnDatabase;
}

/**
 * A Glue table over one job's gzip NDJSON objects. With `columns` in the job, the OpenX JSON SerDe maps each
 * record's fields to them; without, the table has one `record` string column holding each JSON line.
 */
export class AnalyticsExportTable extends Construct {
  readonly table: glue.CfnTable;
  readonly databaseName: string;
  readonly tableName: string;

  constructor(scope: Construct, id: string, props: AnalyticsExportTableProps) {
    super(scope, id);
    const { job, bucket } = props;
    const database = props.database ?? exportsDatabase(this);
    const location = `s3://${bucket.bucketName}/${jobPrefix(job)}`;
    const columns = job.columns
      ? Object.entries(job.columns).map(([name, type]) => ({ name, type }))
      : [{ name: 'record', type: 'string', comment: 'one exported record as JSON; read it with json_extract' }];
    const serdeInfo: glue.CfnTable.SerdeInfoProperty = job.columns
      ? { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'ignore.malformed.json': 'false' } }
      : // \u0001 never occurs in JSON text (control characters are escaped), so each line is one value.
        {
          serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          parameters: { 'field.delim': '\u0001' },
        };
    this.tableName = tableName(job);
    this.databaseName = database.ref;
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Stack.of(this).account,
      databaseName: database.ref,
      tableInput: {
        name: this.tableName,
        description: `Export ${job.name} of tenant ${job.tenant} (${job.kind}), one object per ${job.windowMinutes}-minute window`,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'dt', type: 'string', comment: 'UTC day the window starts on (yyyy-mm-dd)' }],
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': `${job.partitionsFrom},NOW`,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}dt=\${dt}/`,
        },
        storageDescriptor: {
          location,
          columns,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          compressed: true,
          serdeInfo,
        },
      },
    });
  }
}
