/** Distillation: teacher selection, implicit teacher runs, dependency order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlan, orderRuns } from '../../src/grid/index.ts';
import { tree } from '../config/fixture.ts';

const plan = (exp: string) => loadPlan('exp.yaml', { cwd: tree({ 'exp.yaml': exp }) });

describe('teachers', () => {
  it('depends on the grid run a teacher mapping selects, and orders it first', () => {
    const p = plan([
      'zip:',
      '  - model.binary: [true, false]',
      '    distill.teacher: [{model.binary: false}, null]',
      'seeds: [0, 1]', '',
    ].join('\n'));
    const byName = new Map(p.runs.map((r) => [r.name, r]));
    assert.deepEqual(p.runs.map((r) => r.name), [
      'binary=false,teacher=null,seed=0', 'binary=false,teacher=null,seed=1',
      'binary=true,teacher={binary=false},seed=0', 'binary=true,teacher={binary=false},seed=1',
    ]);
    for (const seed of [0, 1]) {
      const student = byName.get(`binary=true,teacher={binary=false},seed=${seed}`)!;
      assert.deepEqual(student.dependsOn, [byName.get(`binary=false,teacher=null,seed=${seed}`)!.id]);
    }
    assert.ok(!p.runs.some((r) => r.params.role === 'teacher'));
  });

  it('adds a teacher that is not in the grid as an implicit run, at the student\'s seed', () => {
    const p = plan('grid:\n  distill.teacher: [null, {model.binary: false}]\n  model.stacks: [1, 2]\nseeds: [4]\n');
    assert.deepEqual(p.runs.map((r) => r.name), [
      'teacher:binary=false,stacks=1,seed=4', 'teacher:binary=false,stacks=2,seed=4',
      'teacher=null,stacks=1,seed=4', 'teacher=null,stacks=2,seed=4',
      'teacher={binary=false},stacks=1,seed=4', 'teacher={binary=false},stacks=2,seed=4',
    ]);
    const [t1, t2, , , s1, s2] = p.runs;
    assert.deepEqual(t1!.params, { role: 'teacher', 'model.binary': false, 'model.stacks': 1, seed: 4 });
    assert.equal(t1!.config.distill.teacher, null);
    assert.equal(t1!.config.model.binary, false);
    assert.equal(t1!.config.seed, 4);
    assert.deepEqual([s1!.dependsOn, s2!.dependsOn], [[t1!.id], [t2!.id]]);
    // Apart from the mapping's keys and the teacher itself, the teacher is its student.
    const student = structuredClone(s1!.config) as { model: { binary: boolean }; distill: { teacher: unknown } };
    student.model.binary = false;
    student.distill.teacher = null;
    assert.deepEqual(t1!.config, student);
  });

  it('shares one implicit teacher between students that map to the same config', () => {
    // The teacher keeps its student's distill.weight unless the mapping sets it: here it does.
    const p = plan('grid:\n  distill.weight: [0.3, 0.7]\nset:\n  distill.teacher: {model.binary: false, distill.weight: 0.5}\n');
    assert.deepEqual(p.runs.map((r) => r.name), ['teacher:weight=0.5,binary=false,seed=0', 'weight=0.3,seed=0', 'weight=0.7,seed=0']);
    assert.deepEqual(p.runs[1]!.dependsOn, [p.runs[0]!.id]);
    assert.deepEqual(p.runs[2]!.dependsOn, [p.runs[0]!.id]);
  });

  it('keeps a teacher path as is, with no dependency; the folder must hold a finished run at plan time', () => {
    const exp = 'set:\n  distill.teacher: results/x/0123456789\n';
    const cwd = tree({ 'exp.yaml': exp, 'results/x/0123456789/final.json': '{}', 'results/x/0123456789/model/model.json': '{}' });
    const p = loadPlan('exp.yaml', { cwd });
    assert.throws(() => plan(exp), /exp\.yaml: run 'seed=0': distill\.teacher 'results\/x\/0123456789' is not a finished run folder \(.* has no final\.json or model\/model\.json\)$/);
    assert.equal(p.runs.length, 1);
    assert.equal(p.runs[0]!.config.distill.teacher, 'results/x/0123456789');
    assert.deepEqual(p.runs[0]!.dependsOn, []);
  });

  it('orders any DAG dependencies first and detects cycles', () => {
    const runs = [
      { id: 'c', dependsOn: ['b'] }, { id: 'x', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }, { id: 'a', dependsOn: [] },
    ];
    assert.deepEqual(orderRuns(runs).map((r) => r.id), ['a', 'x', 'b', 'c']);
    assert.throws(() => orderRuns([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }]), /cycle/);
    assert.throws(() => orderRuns([{ id: 'a', dependsOn: ['zz'] }]), /unknown run/);
  });
});
