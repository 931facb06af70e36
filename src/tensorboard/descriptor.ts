/**
 * The subset of TensorFlow's event protocol TensorBoard reads from an event file, as a protobufjs
 * JSON descriptor. Field names and numbers follow the public definitions
 * tensorflow/core/util/event.proto (Event, SessionLog) and tensorflow/core/framework/summary.proto
 * (Summary, Summary.Value, HistogramProto, SummaryMetadata); fields we never write (images,
 * audio, tensors, graphs, run metadata) are left out, which protobuf's wire format allows: a
 * reader skips field numbers it does not know, and we only ever decode what we wrote.
 */
import type { INamespace } from 'protobufjs';

export const EVENT_DESCRIPTOR: INamespace = {
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['file_version', 'summary', 'session_log'] } },
          fields: {
            wall_time: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            file_version: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
            session_log: { type: 'SessionLog', id: 7 },
          },
        },
        SessionLog: {
          fields: {
            status: { type: 'SessionStatus', id: 1 },
            checkpoint_path: { type: 'string', id: 2 },
            msg: { type: 'string', id: 3 },
          },
          nested: {
            SessionStatus: { values: { STATUS_UNSPECIFIED: 0, START: 1, STOP: 2, CHECKPOINT: 3 } },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ['simple_value', 'histo'] } },
              fields: {
                tag: { type: 'string', id: 1 },
                simple_value: { type: 'float', id: 2 },
                histo: { type: 'HistogramProto', id: 5 },
                node_name: { type: 'string', id: 7 },
                metadata: { type: 'SummaryMetadata', id: 9 },
              },
            },
          },
        },
        SummaryMetadata: {
          fields: {
            plugin_data: { type: 'PluginData', id: 1 },
            display_name: { type: 'string', id: 2 },
            summary_description: { type: 'string', id: 3 },
          },
          nested: {
            PluginData: { fields: { plugin_name: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } },
          },
        },
        HistogramProto: {
          fields: {
            min: { type: 'double', id: 1 },
            max: { type: 'double', id: 2 },
            num: { type: 'double', id: 3 },
            sum: { type: 'double', id: 4 },
            sum_squares: { type: 'double', id: 5 },
            // proto3 packs repeated scalars by default; summary.proto also says so explicitly.
            bucket_limit: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
            bucket: { rule: 'repeated', type: 'double', id: 7, options: { packed: true } },
          },
        },
      },
    },
  },
};
