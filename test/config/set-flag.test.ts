/** `--set key=value`: YAML-typed values checked against the schema; one-line errors naming the flag. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSetFlag, parseSetFlags } from '../../src/config/set-flag.ts';
import { UsageError } from '../../src/errors.ts';
import { throwsBadInput } from './fixture.ts';

const value = (flag: string) => parseSetFlag(flag).value;

describe('--set parsing', () => {
  it('parses each schema type', () => {
    assert.equal(value('train.lr=0.01'), 0.01);
    assert.equal(value('train.lr=1e-3'), 0.001);
    assert.equal(value('train.lr=1'), 1);
    assert.equal(value('model.stacks=3'), 3);
    assert.equal(value('model.binary=false'), false);
    assert.equal(value('model.activation=relu'), 'relu');
    assert.deepEqual(value('train.lr_milestones=[0.5, 0.75]'), [0.5, 0.75]);
    assert.deepEqual(value('model.keep_real=[first]'), ['first']);
    assert.deepEqual(value('model.keep_real=[]'), []);
    assert.equal(value('train.epochs=null'), null);
    assert.equal(value('data.root=null'), null);
  });

  it('keeps the text as typed for string keys', () => {
    assert.equal(value('data.root=2024'), '2024');
    assert.equal(value('data.root=data/mpii'), 'data/mpii');
    assert.equal(value('data.root=a=b'), 'a=b');
  });

  it('reads teacher mappings in flow syntax, flattened and sorted', () => {
    assert.deepEqual(value('distill.teacher={model: {binary: false}, model.stacks: 2}'), { 'model.binary': false, 'model.stacks': 2 });
    assert.equal(value('distill.teacher=results/x/abc'), 'results/x/abc');
    assert.equal(value('distill.teacher=null'), null);
  });

  it('keeps flag order, so the last of two flags for a key wins when applied', () => {
    assert.deepEqual(parseSetFlags(['train.lr=0.1', 'train.lr=0.2']).map((o) => o.value), [0.1, 0.2]);
  });

  it('rejects bad flags with one line naming the flag', () => {
    throwsBadInput(() => parseSetFlag('train.lr'), "--set 'train.lr': expected key=value");
    throwsBadInput(() => parseSetFlag('=3'), "--set '=3': expected key=value");
    throwsBadInput(() => parseSetFlag('model.activaton=relu'), "--set 'model.activaton=relu': unknown key 'model.activaton' (did you mean 'model.activation'?)");
    throwsBadInput(() => parseSetFlag('model={stacks: 2}'), "--set 'model={stacks: 2}': 'model' is a section: set its keys one at a time");
    throwsBadInput(() => parseSetFlag('train.lr=abc'), "--set 'train.lr=abc': train.lr: expected a number, got string 'abc'");
    throwsBadInput(() => parseSetFlag('model.stacks=2.5'), "--set 'model.stacks=2.5': model.stacks: expected an integer, got number 2.5");
    throwsBadInput(() => parseSetFlag('model.stacks=null'), "--set 'model.stacks=null': model.stacks: expected an integer, got null");
    throwsBadInput(() => parseSetFlag('model.binary=1'), "--set 'model.binary=1': model.binary: expected a boolean (true or false), got integer 1");
    throwsBadInput(() => parseSetFlag('model.activation=Relu'), /is not one of none, relu, leaky_relu, prelu \(did you mean 'relu'\?\)$/);
    throwsBadInput(() => parseSetFlag('train.lr_milestones=[0.5'), /^--set 'train.lr_milestones=\[0.5': YAML syntax error: /);
    throwsBadInput(() => parseSetFlag('distill.teacher={seed: 1}'), /^--set 'distill.teacher=\{seed: 1\}': distill.teacher cannot set 'seed'/);
    assert.throws(() => parseSetFlag('x'), UsageError);
  });
});
