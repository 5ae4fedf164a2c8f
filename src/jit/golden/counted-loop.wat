(module
  (type 0 (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (type 1 (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (type 2 (func (param i32) (result i32)))
  (type 3 (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "mem" (memory 17 17))
  (import "env" "load" (func 0 (type 0)))
  (import "env" "store" (func 1 (type 1)))
  (import "env" "step" (func 2 (type 2)))
  (export "run" (func 3))
  (func 3 (type 3) (export "run") (param i32 i32 i32 i32) (result i32)
    (local 4 i64) (local 5 i64) (local 6 i64) (local 7 i32) (local 8 i32) (local 9 i32) (local 10 i32) (local 11 i32) (local 12 i64) (local 13 i64) (local 14 i64) (local 15 i64) (local 16 i64) (local 17 i64)
    i32.const 0
    i64.load offset=512
    i64.const -4096
    i64.and
    local.set 4
    i32.const 0
    i64.load offset=80
    local.set 17
    local.get 2
    local.set 11
    local.get 4
    local.get 2
    i64.extend_i32_u
    i64.add
    local.set 5
    local.get 1
    i64.extend_i32_u
    local.set 12
    loop
      block
        block
          local.get 11
          i32.const 1
          i32.shr_u
          br_table 0 1
        end
        loop
          local.get 17
          i64.const -1
          i64.add
          local.set 17
          local.get 17
          i64.const 0
          i64.ne
          local.get 10
          i32.const 2
          i32.add
          local.set 10
          if
            local.get 10
            local.get 3
            i32.lt_s
            if
              br 2
            end
            local.get 4
            local.set 5
            br 2
          else
            local.get 4
            i64.const 8
            i64.add
            local.set 5
            br 2
          end
        end
      end
      i32.const 0
      local.get 5
      i64.store offset=512
      i32.const 0
      local.get 17
      i64.store offset=80
      local.get 10
      return
    end
    i32.const 0
  )
)
