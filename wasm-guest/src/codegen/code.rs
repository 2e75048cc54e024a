//! A function body under construction: instructions, locals, and structured-control labels
//! named by their nesting depth so branches never hand-count relative depths.
use wasm_encoder::{BlockType, Function, Instruction, MemArg, MemArgTarget, ValType};

/// A label: the nesting depth of the block/loop/if it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Label(u32);

/// Instructions and locals of one function.
pub(super) struct Code {
    instructions: Vec<Instruction<'static>>,
    params: u32,
    locals: Vec<ValType>,
    /// Locals in use, innermost last ([`Code::mark`] / [`Code::release`]).
    taken: Vec<(ValType, u32)>,
    /// Locals released for reuse: a rule with 100 000 conditions needs as many locals as its
    /// deepest condition, not as all of them (Wasm engines cap locals per function).
    free: Vec<(ValType, u32)>,
    depth: u32,
}

impl Code {
    pub(super) fn new(params: u32) -> Code {
        Code { instructions: Vec::new(), params, locals: Vec::new(), taken: Vec::new(), free: Vec::new(), depth: 0 }
    }

    /// A local of type `ty` no live code uses: a released one, or a new one.
    pub(super) fn local(&mut self, ty: ValType) -> u32 {
        let index = match self.free.iter().rposition(|(free_ty, _)| *free_ty == ty) {
            Some(position) => self.free.swap_remove(position).1,
            None => {
                self.locals.push(ty);
                self.params + self.locals.len() as u32 - 1
            }
        };
        self.taken.push((ty, index));
        index
    }

    /// The locals taken so far; [`Code::release`] with it frees every local taken since.
    pub(super) fn mark(&self) -> usize {
        self.taken.len()
    }

    /// Frees the locals taken since `mark`: the code that used them is finished and no later
    /// instruction reads them before writing them again.
    pub(super) fn release(&mut self, mark: usize) {
        if mark <= self.taken.len() {
            self.free.extend(self.taken.drain(mark..));
        }
    }

    /// Appends one instruction.
    pub(super) fn op(&mut self, instruction: Instruction<'static>) -> &mut Code {
        match instruction {
            Instruction::Block(_) | Instruction::Loop(_) | Instruction::If(_) => self.depth += 1,
            Instruction::End => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.instructions.push(instruction);
        self
    }

    /// Opens a `block` and returns its label.
    pub(super) fn block(&mut self, ty: BlockType) -> Label {
        self.op(Instruction::Block(ty));
        Label(self.depth)
    }

    /// Opens a `loop` and returns its label (branching to it continues the loop).
    pub(super) fn loop_(&mut self) -> Label {
        self.op(Instruction::Loop(BlockType::Empty));
        Label(self.depth)
    }

    /// Opens an `if` and returns its label.
    pub(super) fn if_(&mut self, ty: BlockType) -> Label {
        self.op(Instruction::If(ty));
        Label(self.depth)
    }

    pub(super) fn end(&mut self) -> &mut Code {
        self.op(Instruction::End)
    }

    fn relative(&self, label: Label) -> u32 {
        self.depth.saturating_sub(label.0)
    }

    pub(super) fn br(&mut self, label: Label) -> &mut Code {
        let depth = self.relative(label);
        self.op(Instruction::Br(depth))
    }

    pub(super) fn br_if(&mut self, label: Label) -> &mut Code {
        let depth = self.relative(label);
        self.op(Instruction::BrIf(depth))
    }

    /// `br_table` whose entry `i` targets `targets[i]`, others `default`.
    pub(super) fn br_table(&mut self, targets: &[Label], default: Label) -> &mut Code {
        let targets: Vec<u32> = targets.iter().map(|&l| self.relative(l)).collect();
        let default = self.relative(default);
        self.op(Instruction::BrTable(targets.into(), default))
    }

    pub(super) fn i32(&mut self, value: i32) -> &mut Code {
        self.op(Instruction::I32Const(value))
    }

    /// Pushes an address/size constant (bit pattern of the u32).
    pub(super) fn u32(&mut self, value: u32) -> &mut Code {
        self.op(Instruction::I32Const(value as i32))
    }

    pub(super) fn get(&mut self, local: u32) -> &mut Code {
        self.op(Instruction::LocalGet(local))
    }

    pub(super) fn set(&mut self, local: u32) -> &mut Code {
        self.op(Instruction::LocalSet(local))
    }

    pub(super) fn tee(&mut self, local: u32) -> &mut Code {
        self.op(Instruction::LocalTee(local))
    }

    /// `i32.load` at the address on the stack plus `offset`.
    pub(super) fn load32(&mut self, offset: u32) -> &mut Code {
        self.op(Instruction::I32Load(mem(offset, 2)))
    }

    /// `i64.load` at the address on the stack plus `offset`.
    pub(super) fn load64(&mut self, offset: u32) -> &mut Code {
        self.op(Instruction::I64Load(mem(offset, 3)))
    }

    /// `i32.load8_u` at the address on the stack plus `offset`.
    pub(super) fn load8(&mut self, offset: u32) -> &mut Code {
        self.op(Instruction::I32Load8U(mem(offset, 0)))
    }

    /// `i32.load16_u` at the address on the stack plus `offset`.
    pub(super) fn load16(&mut self, offset: u32) -> &mut Code {
        self.op(Instruction::I32Load16U(mem(offset, 1)))
    }

    /// `i32.store` of the value on the stack at the address below it plus `offset`.
    pub(super) fn store32(&mut self, offset: u32) -> &mut Code {
        self.op(Instruction::I32Store(mem(offset, 2)))
    }

    /// `local += step` for an i32 local.
    pub(super) fn increment(&mut self, local: u32, step: i32) -> &mut Code {
        self.get(local).i32(step).op(Instruction::I32Add).set(local)
    }

    /// The finished function (appends the final `end`).
    pub(super) fn finish(mut self) -> Function {
        self.instructions.push(Instruction::End);
        let mut function = Function::new(self.locals.iter().map(|&ty| (1, ty)));
        for instruction in &self.instructions {
            function.instruction(instruction);
        }
        function
    }
}

fn mem(offset: u32, align: u32) -> MemArg {
    MemArg { offset: u64::from(offset), align, target: MemArgTarget::Memory(0), ordering: None }
}
