// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { Label, RecordTokens } from '../../api/types';
import { useSpanSelection, withTokenRanges } from '../../composables/useSpanSelection';
import LabelingSpanText from './LabelingSpanText.vue';

const tokens: RecordTokens = {
  attribute: 'text',
  text: 'Alice met Bob',
  tokens: [
    { index: 0, start: 0, end: 5, text: 'Alice' },
    { index: 1, start: 6, end: 9, text: 'met' },
    { index: 2, start: 10, end: 13, text: 'Bob' },
  ],
};
const labels: Label[] = [{ id: 'per', name: 'PER', color: '#dc2626', hotkey: 'e', description: '' }];

describe('LabelingSpanText', () => {
  it('renders the text, highlights spans in the label colour and offers a remove control', async () => {
    const spans = withTokenRanges(tokens.tokens, [{ labelId: 'per', start: 10, end: 13 }]);
    const wrapper = mount(LabelingSpanText, { props: { tokens, spans, labels, selection: null } });
    expect(wrapper.get('[data-testid="span-text"]').text().replace(/PER\s*×/, '')).toBe('Alice met Bob');
    const bob = wrapper.get('[data-token="2"]');
    expect(bob.classes()).toContain('is-labeled');
    expect(bob.attributes('style')).toContain('#dc2626');
    expect(wrapper.get('[data-testid="span-tag"]').text()).toContain('PER');
    await wrapper.get('[data-testid="span-remove"]').trigger('click');
    expect(wrapper.emitted('remove')?.[0]?.[0]).toMatchObject({ labelId: 'per', start: 10, end: 13 });
  });

  it('reports mouse presses (with shift) and follows the selection while dragging', async () => {
    const selection = useSpanSelection(() => tokens.tokens.length);
    const wrapper = mount(LabelingSpanText, { props: { tokens, spans: [], labels, selection } });
    await wrapper.get('[data-token="0"]').trigger('mousedown', { button: 0 });
    expect(wrapper.emitted('activate')?.[0]).toEqual([0, false]);
    selection.pointerDown(0);
    await wrapper.get('[data-token="1"]').trigger('mouseenter');
    await wrapper.get('[data-testid="span-text"]').trigger('mouseup');
    expect(selection.range.value).toEqual({ first: 0, last: 1 });
    expect(wrapper.get('[data-token="1"]').classes()).toContain('is-selected');
    expect(wrapper.get('[data-token="2"]').classes()).not.toContain('is-selected');
    await wrapper.get('[data-token="2"]').trigger('mousedown', { button: 0, shiftKey: true });
    expect(wrapper.emitted('activate')?.[1]).toEqual([2, true]);
  });
});
