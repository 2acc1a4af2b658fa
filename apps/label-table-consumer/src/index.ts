export { LabelTable, compareRows, type LabelRow } from './label-table.ts';
export { startLabelTableConsumer, type LabelTableConsumer, type LabelTableConsumerOptions } from './consumer.ts';
