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
    (local 4 i64) (local 5 i64) (local 6 i64) (local 7 i32) (local 8 i32) (local 9 i32) (local 10 i32) (local 11 i32) (local 12 i64) (local 13 i64) (local 14 i64) (local 15 i64) (local 16 i64) (local 17 i64) (local 18 i64) (local 19 i64) (local 20 i64) (local 21 i64) (local 22 i64) (local 23 f64) (local 24 f64) (local 25 f64) (local 26 f64) (local 27 f64) (local 28 f64) (local 29 f64) (local 30 f64) (local 31 f64) (local 32 f64) (local 33 f64) (local 34 f64) (local 35 f64) (local 36 f64) (local 37 f32) (local 38 f32) (local 39 f32) (local 40 i64) (local 41 i64) (local 42 i32) (local 43 i32)
    i32.const 0
    i64.load offset=512
    i64.const -4096
    i64.and
    local.set 4
    i32.const 0
    i64.load offset=8
    local.set 17
    i32.const 0
    i64.load offset=80
    local.set 18
    i32.const 0
    i64.load offset=88
    local.set 19
    i32.const 0
    i64.load offset=96
    local.set 20
    i32.const 0
    i64.load offset=336
    local.set 21
    i32.const 0
    i64.load offset=344
    local.set 22
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
        i32.const 0
        i32.load offset=584
        i32.const 24576
        i32.and
        i32.const 24576
        i32.eq
        if
          local.get 18
          i64.const 0
          i64.add
          local.set 6
          local.get 6
          i32.wrap_i64
          local.tee 7
          i32.const 8
          i32.shr_u
          i32.const 16368
          i32.and
          i32.const 4096
          i32.add
          local.tee 8
          i64.load
          local.get 6
          i64.const -4096
          i64.and
          local.get 12
          i64.or
          i64.eq
          local.get 7
          i32.const 4095
          i32.and
          i32.const 4092
          i32.le_u
          i32.and
          if (result i64)
            local.get 7
            local.get 8
            i32.load offset=8
            i32.add
            i64.load32_u align=1
            i64.const -4294967296
            i64.or
          else
            local.get 7
            local.get 6
            i64.const 32
            i64.shr_u
            i32.wrap_i64
            i32.const 8
            i32.const 84
            local.get 1
            local.get 10
            i32.const 0
            i32.add
            call 0
            local.tee 9
            if
              local.get 9
              i32.const 1
              i32.eq
              if
                local.get 4
                local.set 5
                local.get 10
                i32.const 1073741824
                i32.add
                local.set 10
              else
                i32.const 0
                i64.load offset=336
                local.set 21
                local.get 4
                i64.const 4
                i64.add
                local.set 5
                local.get 10
                i32.const 536870913
                i32.add
                local.set 10
              end
              br 3
            end
            i32.const 0
            i64.load offset=336
          end
          local.set 21
        else
          i32.const 0
          local.get 21
          i64.store offset=336
          i32.const 0
          local.get 4
          i64.store offset=512
          local.get 10
          i32.const 0
          i32.add
          call 2
          local.tee 9
          i32.const 0
          i64.load offset=336
          local.set 21
          if
            i32.const 0
            i64.load offset=512
            local.set 5
            local.get 10
            i32.const 536870912
            i32.add
            local.get 9
            i32.const 1
            i32.shr_u
            i32.add
            local.set 10
            br 2
          end
        end
        i32.const 0
        i64.load offset=576
        i64.const -4294967295
        i64.and
        i64.const 1
        i64.eq
        local.tee 43
        i64.const -1
        local.set 41
        local.get 21
        local.tee 40
        i32.wrap_i64
        f32.reinterpret_i32
        f64.promote_f32
        local.set 23
        local.get 41
        local.get 40
        i64.and
        local.set 41
        local.get 41
        i64.const 32
        i64.shr_u
        i64.const 4294967295
        i64.eq
        local.get 23
        f64.trunc
        local.tee 24
        f64.const -2147483648
        f64.ge
        i32.and
        local.get 24
        f64.const 2147483648
        f64.lt
        i32.and
        local.set 42
        local.get 24
        local.get 23
        f64.eq
        i32.or
        local.get 42
        i32.and
        if
          local.get 24
          i32.trunc_f64_s
          i64.extend_i32_s
          local.set 19
        else
          block
            block
              local.get 21
              local.tee 40
              i64.const 32
              i64.shr_u
              i64.const 4294967295
              i64.ne
              br_if 0
              local.get 40
              i32.wrap_i64
              f32.reinterpret_i32
              f64.promote_f32
              local.set 23
              local.get 23
              f64.trunc
              local.set 24
              local.get 24
              f64.const -2147483648
              f64.ge
              local.get 24
              f64.const 2147483648
              f64.lt
              i32.and
              i32.eqz
              br_if 0
              local.get 24
              i32.trunc_f64_s
              i64.extend_i32_s
              local.set 19
              local.get 24
              local.get 23
              f64.ne
              if
                i32.const 0
                i32.const 0
                i32.load offset=576
                i32.const 1
                i32.or
                i32.store offset=576
              end
              br 1
            end
            i32.const 0
            local.get 19
            i64.store offset=88
            i32.const 0
            local.get 21
            i64.store offset=336
            i32.const 0
            local.get 4
            i64.const 4
            i64.add
            i64.store offset=512
            local.get 10
            i32.const 1
            i32.add
            call 2
            local.tee 9
            i32.const 0
            i64.load offset=88
            local.set 19
            if
              i32.const 0
              i64.load offset=512
              local.set 5
              local.get 10
              i32.const 536870913
              i32.add
              local.get 9
              i32.const 1
              i32.shr_u
              i32.add
              local.set 10
              br 3
            end
          end
        end
        local.get 43
        if
          local.get 19
          f64.convert_i64_s
          i64.reinterpret_f64
          local.set 22
        else
          block
            block
              i32.const 0
              i32.load offset=580
              i32.const 4
              i32.gt_u
              br_if 0
              local.get 19
              local.tee 40
              f64.convert_i64_s
              local.set 23
              local.get 23
              f64.const 9223372036854776000
              f64.lt
              local.get 23
              i64.trunc_sat_f64_s
              local.get 40
              i64.eq
              i32.and
              local.set 42
              local.get 42
              i32.eqz
              i32.const 0
              i32.load offset=580
              i32.const 0
              i32.ne
              i32.and
              br_if 0
              local.get 23
              i64.reinterpret_f64
              local.set 22
              local.get 42
              i32.eqz
              if
                i32.const 0
                i32.const 0
                i32.load offset=576
                i32.const 1
                i32.or
                i32.store offset=576
              end
              br 1
            end
            i32.const 0
            local.get 19
            i64.store offset=88
            i32.const 0
            local.get 22
            i64.store offset=344
            i32.const 0
            local.get 4
            i64.const 8
            i64.add
            i64.store offset=512
            local.get 10
            i32.const 2
            i32.add
            call 2
            local.tee 9
            i32.const 0
            i64.load offset=344
            local.set 22
            if
              i32.const 0
              i64.load offset=512
              local.set 5
              local.get 10
              i32.const 536870914
              i32.add
              local.get 9
              i32.const 1
              i32.shr_u
              i32.add
              local.set 10
              br 3
            end
          end
        end
        local.get 43
        local.get 22
        f64.reinterpret_i64
        local.set 23
        local.get 22
        f64.reinterpret_i64
        local.set 24
        i32.const 1
        i32.and
        local.get 23
        local.get 23
        f64.eq
        i32.and
        local.get 24
        local.get 24
        f64.eq
        i32.and
        if
          local.get 23
          local.get 24
          f64.eq
          i64.extend_i32_u
          local.set 20
        else
          block
            block
              local.get 22
              f64.reinterpret_i64
              local.set 23
              local.get 22
              f64.reinterpret_i64
              local.set 24
              local.get 23
              local.get 23
              f64.eq
              local.get 24
              local.get 24
              f64.eq
              i32.and
              i32.eqz
              br_if 0
              local.get 23
              local.get 24
              f64.eq
              i64.extend_i32_u
              local.set 20
              br 1
            end
            i32.const 0
            local.get 20
            i64.store offset=96
            i32.const 0
            local.get 22
            i64.store offset=344
            i32.const 0
            local.get 4
            i64.const 12
            i64.add
            i64.store offset=512
            local.get 10
            i32.const 3
            i32.add
            call 2
            local.tee 9
            i32.const 0
            i64.load offset=96
            local.set 20
            if
              i32.const 0
              i64.load offset=512
              local.set 5
              local.get 10
              i32.const 536870915
              i32.add
              local.get 9
              i32.const 1
              i32.shr_u
              i32.add
              local.set 10
              br 3
            end
          end
        end
        local.get 17
        i64.const 0
        i64.add
        i64.const -2
        i64.and
        local.set 5
        local.get 4
        i64.const 20
        i64.add
        drop
        local.get 10
        i32.const 5
        i32.add
        local.set 10
        local.get 5
        local.get 4
        i64.xor
        i64.const 12
        i64.shr_u
        i64.eqz
        local.get 10
        local.get 3
        i32.lt_s
        i32.and
        if
          local.get 5
          i32.wrap_i64
          i32.const 4095
          i32.and
          local.set 11
          br 2
        end
        br 0
      end
      i32.const 0
      local.get 5
      i64.store offset=512
      i32.const 0
      local.get 19
      i64.store offset=88
      i32.const 0
      local.get 20
      i64.store offset=96
      i32.const 0
      local.get 21
      i64.store offset=336
      i32.const 0
      local.get 22
      i64.store offset=344
      local.get 10
      return
    end
    i32.const 0
  )
)
